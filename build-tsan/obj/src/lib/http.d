build-tsan/obj/src/lib/http.o: src/lib/http.c src/lib/http.h \
 include/beampush/common.h src/util/dynbuf.h src/lib/certs.h \
 src/util/strutil.h
src/lib/http.h:
include/beampush/common.h:
src/util/dynbuf.h:
src/lib/certs.h:
src/util/strutil.h:
