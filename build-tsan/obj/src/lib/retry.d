build-tsan/obj/src/lib/retry.o: src/lib/retry.c src/lib/retry.h \
 src/lib/http.h include/beampush/common.h src/util/dynbuf.h \
 src/util/strutil.h
src/lib/retry.h:
src/lib/http.h:
include/beampush/common.h:
src/util/dynbuf.h:
src/util/strutil.h:
