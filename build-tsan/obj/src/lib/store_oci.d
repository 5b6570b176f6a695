build-tsan/obj/src/lib/store_oci.o: src/lib/store_oci.c \
 include/beampush/store_oci.h include/beampush/common.h \
 include/beampush/manifest.h include/beampush/digest.h \
 src/util/fileutil.h src/util/dynbuf.h src/util/strutil.h \
 /usr/include/cjson/cJSON.h
include/beampush/store_oci.h:
include/beampush/common.h:
include/beampush/manifest.h:
include/beampush/digest.h:
src/util/fileutil.h:
src/util/dynbuf.h:
src/util/strutil.h:
/usr/include/cjson/cJSON.h:
