build-tsan/obj/src/lib/store_daemon.o: src/lib/store_daemon.c \
 src/lib/store_daemon.h include/beampush/common.h \
 include/beampush/digest.h src/lib/http.h src/util/dynbuf.h \
 src/util/strutil.h
src/lib/store_daemon.h:
include/beampush/common.h:
include/beampush/digest.h:
src/lib/http.h:
src/util/dynbuf.h:
src/util/strutil.h:
