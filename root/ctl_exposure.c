/*
 * arborctl exposure: per CVE that a current policy names, the endpoints
 * where such a policy applies and is not fixed yet (its latest reported
 * state is applicable, on its way, failed, rolled back or waiting for a
 * reboot), highest CVSS score first.  Made from the root's catalog and
 * its endpoint states (view_exposure, as the HTTP API makes it); nothing
 * is stored for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arborctl.h"

int
cmd_exposure(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *cat, *rep;
	Arbor__GetEndpoints	 ge = ARBOR__GET_ENDPOINTS__INIT;
	const char		*only = NULL;
	json_t			*doc, *cves, *o, *eps;
	size_t			 i, j;
	int			 as_json = 0, rv = 0;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (only == NULL && argv[i][0] != '-')
			only = argv[i];
		else {
			ctl_usage(stderr);
			return 1;
		}
	}
	if (ctl_get_catalog(c, &cat) != 0)
		return 1;
	ge.state = -1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINTS;
	req.get_endpoints = &ge;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY,
	    &rep) != 0) {
		arb_wire_free(cat);
		return 1;
	}
	doc = view_exposure(cat->catalog_reply, rep->endpoints_reply, only);
	arb_wire_free(rep);
	arb_wire_free(cat);
	if (as_json || doc == NULL)
		return ctl_json_print(c, doc);
	cves = json_object_get(doc, "cves");
	if (only != NULL && json_array_size(cves) == 0)
		printf("%s: no current policy fixes it\n", only);
	else
		printf("%-20s %5s %9s  %s\n", "CVE", "CVSS", "EXPOSED",
		    "FIXED BY");
	json_array_foreach(cves, i, o) {
		eps = json_object_get(o, "endpoints");
		printf("%-20s %5.1f %9zu  %s\n",
		    json_string_value(json_object_get(o, "cve")),
		    json_real_value(json_object_get(o, "cvss")),
		    json_array_size(eps),
		    json_string_value(json_object_get(o, "policies")));
		for (j = 0; only != NULL && j < json_array_size(eps); j++)
			printf("    %s\n",
			    json_string_value(json_array_get(eps, j)));
	}
	json_decref(doc);
	return rv;
}
