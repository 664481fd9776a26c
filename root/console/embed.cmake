# Turns the console's files into a C source: one array of bytes per file
# and a table of them (root/console.c serves it).  Run as
#   cmake -DOUT=console_files.c -DDIR=root/console -DFILES=a,b -P embed.cmake
# file(READ ... HEX) keeps the build free of xxd.
string(REPLACE "," ";" FILES "${FILES}")
set(body "/* Generated from root/console by embed.cmake: do not edit. */\n")
string(APPEND body "#include \"root.h\"\n\n")
set(table "")
set(i 0)
foreach(f ${FILES})
	file(READ ${DIR}/${f} hex HEX)
	string(LENGTH "${hex}" n)
	math(EXPR len "${n} / 2")
	string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
	string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
	    "\\1\n" bytes "${bytes}")
	string(APPEND body "static const unsigned char f${i}[] = {\n${bytes}0x00\n};\n")
	string(APPEND table "\t{ \"${f}\", f${i}, ${len} },\n")
	math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst struct root_console_file root_console_files[] = {\n")
string(APPEND body "${table}\t{ NULL, NULL, 0 }\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
