build-tsan/obj/src/lib/auth.o: src/lib/auth.c src/lib/auth.h \
 include/beampush/common.h include/beampush/credentials.h src/lib/http.h \
 src/util/dynbuf.h src/lib/retry.h src/util/strutil.h \
 /usr/include/cjson/cJSON.h
src/lib/auth.h:
include/beampush/common.h:
include/beampush/credentials.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/retry.h:
src/util/strutil.h:
/usr/include/cjson/cJSON.h:
