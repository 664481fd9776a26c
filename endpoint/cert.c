/*
 * The agent's TLS client certificate, from enrolment.
 *
 * With enroll_via set (a relay's enrolment address, where only the relay
 * is authenticated and nothing but enrolment is served), the agent makes
 * its TLS key (tls_key) at first start, and while it has no certificate
 * at tls_cert that is valid, it does nothing but enrol there: its
 * enrolment, signed with its endpoint key, carries a certificate request,
 * and the root's reply carries the certificate, checked here against the
 * key and the pinned CA before it is written.  Only then is the relay
 * link dialled, with the certificate.  At half of its validity the agent
 * asks again over its link (an enrolment of the key already enrolled: no
 * token needed, refused for a revoked endpoint), and takes the new one
 * for its next connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbor/ca.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/tls.h"
#include "agent.h"

#define CERT_RETRY_MS	5000		/* first contact: again after */
#define CERT_CHECK_MIN	10		/* s between renewal checks, at least */
#define CERT_CHECK_MAX	3600		/* ... and at most */

/* Whether this agent takes its certificate from enrolment. */
static int
cert_mode(const struct agent *a)
{
	const struct arb_tls_conf *t = arb_tls_get();

	return a->env == NULL && a->conf->enroll_via != NULL &&
	    t->cert != NULL && t->key != NULL && t->ca != NULL;
}

int
agent_cert_request(struct agent *a, char **csrp)
{
	*csrp = NULL;
	if (!cert_mode(a))
		return 0;
	return arb_ca_csr(arb_tls_get()->key, a->id, csrp);
}

int
agent_cert_take(struct agent *a, const char *pem)
{
	const struct arb_tls_conf *t = arb_tls_get();
	struct tm	 tm;
	time_t		 until_t;
	int64_t		 until;
	char		 when[32];
	int		 rv;

	if (!cert_mode(a))
		return 0;
	if ((rv = arb_cert_check(pem, strlen(pem), t->key, t->ca,
	    &until)) != 0) {
		log_warnx("agent: the certificate in the enrolment reply "
		    "does not hold (above): not taken");
		return rv;
	}
	if ((rv = arb_ca_write(t->cert, pem, strlen(pem), 0644)) != 0)
		return rv;
	until_t = (time_t)until;
	gmtime_r(&until_t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_info("agent: TLS certificate from the root, valid until %s", when);
	return 0;
}

/* The certificate at tls_cert, if it is valid now: its validity. */
static int
cert_valid(int64_t *fromp, int64_t *untilp)
{
	const struct arb_tls_conf *t = arb_tls_get();
	int64_t	now = (int64_t)time(NULL), margin;

	if (access(t->cert, R_OK) != 0 ||
	    arb_cert_validity(t->cert, fromp, untilp) != 0)
		return 0;
	/* Not one about to end: a tenth of its life left, or a minute. */
	margin = (*untilp - *fromp) / 10;
	if (margin > 60)
		margin = 60;
	return *fromp <= now + 60 && now + margin < *untilp;
}

static void	cert_timer_cb(uv_timer_t *);

/* Look again in a while: at most a twentieth of the validity. */
static void
cert_arm(struct agent *a, int64_t from, int64_t until)
{
	int64_t	s = (until - from) / 20;

	if (s < CERT_CHECK_MIN)
		s = CERT_CHECK_MIN;
	if (s > CERT_CHECK_MAX)
		s = CERT_CHECK_MAX;
	uv_timer_start(&a->cert_timer, cert_timer_cb, (uint64_t)s * 1000, 0);
}

/* The link, once there is a certificate to dial it with. */
static int
cert_link_start(struct agent *a)
{
	int	rv;

	a->cert_wait = 0;
	if ((rv = arb_link_start(a->link)) != 0 ||
	    (rv = arb_sync_start(a->sync)) != 0)
		return rv;
	agent_flush(a);
	return 0;
}

static void	cert_first_contact(struct agent *);

static void
cert_first_cb(int rv, const uint8_t *data, size_t len, void *arg)
{
	struct agent		*a = arg;
	Arbor__Envelope		*env = NULL;
	int64_t			 from, until;

	if (a->stopping)
		return;
	if (rv == 0)
		rv = arb_reply_decode(data, len, ARBOR__ENVELOPE__BODY_ENROLL_REPLY,
		    &env);
	else
		log_warnx("agent: enrolment at %s: %s", a->conf->enroll_via,
		    arb_strerror(rv));
	if ((rv == 0 || env != NULL) &&
	    agent_enroll_reply(a, rv, env) == 0 && cert_valid(&from, &until)) {
		arb_wire_free(env);
		arb_cli_close(a->cert_cli);
		a->cert_cli = NULL;
		cert_arm(a, from, until);
		if ((rv = cert_link_start(a)) != 0)
			log_warnx("agent: relay link: %s", arb_strerror(rv));
		return;
	}
	arb_wire_free(env);
	uv_timer_start(&a->cert_timer, cert_timer_cb, CERT_RETRY_MS, 0);
}

/* Enrol at enroll_via, asking for a certificate. */
static void
cert_first_contact(struct agent *a)
{
	struct agent_enrol	 e;
	uint8_t			*msg = NULL;
	size_t			 len;
	int			 rv;

	if ((rv = agent_enrol_make(a, &e)) != 0) {
		if (rv == ARB_ECONFIG)
			return;
		goto out;
	}
	rv = arb_wire_encode(&e.env, &msg, &len);
	agent_enrol_clear(&e);
	if (rv != 0)
		goto out;
	if (a->cert_cli == NULL && (rv = arb_cli_dial(a->net,
	    a->conf->enroll_via, 0, &a->cert_cli)) != 0)
		goto out;
	rv = arb_cli_request(a->cert_cli, msg, len,
	    (int)a->conf->up.timeout_ms, cert_first_cb, a);
out:
	if (rv != 0) {
		log_warnx("agent: enrolment at %s: %s", a->conf->enroll_via,
		    arb_strerror(rv));
		uv_timer_start(&a->cert_timer, cert_timer_cb, CERT_RETRY_MS,
		    0);
	}
	free(msg);
}

static void
cert_timer_cb(uv_timer_t *t)
{
	struct agent	*a = t->data;
	int64_t		 from, until, now = (int64_t)time(NULL);

	if (a->stopping)
		return;
	if (a->cert_wait) {
		cert_first_contact(a);
		return;
	}
	if (!cert_valid(&from, &until)) {
		log_warnx("agent: TLS certificate %s expired or unreadable: "
		    "new connections to the relay fail until it is renewed "
		    "(restart the agent to enrol again at %s)",
		    arb_tls_get()->cert, a->conf->enroll_via);
		uv_timer_start(&a->cert_timer, cert_timer_cb,
		    CERT_CHECK_MAX * 1000, 0);
		return;
	}
	if (now >= from + (until - from) / 2) {
		log_info("agent: TLS certificate past half its validity: "
		    "asking for a new one");
		agent_enroll_renew(a);
	}
	cert_arm(a, from, until);
}

int
agent_cert_start(struct agent *a)
{
	const struct arb_tls_conf *t = arb_tls_get();
	int64_t	from, until;
	int	rv;

	if (!cert_mode(a))
		return cert_link_start(a);
	uv_timer_init(a->loop, &a->cert_timer);
	a->cert_timer.data = a;
	if (access(t->key, F_OK) != 0) {
		if ((rv = arb_ca_keygen(t->key)) != 0)
			return rv;
		log_info("agent: made its TLS key %s", t->key);
	}
	if (cert_valid(&from, &until)) {
		cert_arm(a, from, until);
		return cert_link_start(a);
	}
	log_info("agent: no valid TLS certificate at %s: enrolling at %s "
	    "for one", t->cert, a->conf->enroll_via);
	a->cert_wait = 1;
	cert_first_contact(a);
	return 0;
}

void
agent_cert_stop(struct agent *a)
{
	if (a->cert_timer.loop != NULL &&
	    !uv_is_closing((uv_handle_t *)&a->cert_timer))
		uv_close((uv_handle_t *)&a->cert_timer, NULL);
	if (a->cert_cli != NULL) {
		arb_cli_close(a->cert_cli);
		a->cert_cli = NULL;
	}
}
