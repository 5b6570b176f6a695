build-tsan/obj/src/lib/credhelper.o: src/lib/credhelper.c \
 src/lib/credhelper.h include/beampush/common.h src/util/strutil.h \
 /usr/include/cjson/cJSON.h
src/lib/credhelper.h:
include/beampush/common.h:
src/util/strutil.h:
/usr/include/cjson/cJSON.h:
