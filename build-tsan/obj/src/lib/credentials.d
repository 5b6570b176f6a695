build-tsan/obj/src/lib/credentials.o: src/lib/credentials.c \
 include/beampush/credentials.h include/beampush/common.h \
 src/lib/credhelper.h src/lib/keyring.h src/lib/userdirs.h \
 src/util/fileutil.h src/util/dynbuf.h src/util/strutil.h \
 /usr/include/cjson/cJSON.h
include/beampush/credentials.h:
include/beampush/common.h:
src/lib/credhelper.h:
src/lib/keyring.h:
src/lib/userdirs.h:
src/util/fileutil.h:
src/util/dynbuf.h:
src/util/strutil.h:
/usr/include/cjson/cJSON.h:
