build-tsan/obj/src/lib/certs.o: src/lib/certs.c src/lib/certs.h \
 include/beampush/common.h src/lib/userdirs.h src/util/strutil.h
src/lib/certs.h:
include/beampush/common.h:
src/lib/userdirs.h:
src/util/strutil.h:
