build-tsan/obj/src/lib/oci_archive.o: src/lib/oci_archive.c \
 src/lib/oci_archive.h include/beampush/store_oci.h \
 include/beampush/common.h include/beampush/manifest.h \
 include/beampush/digest.h src/lib/store_archive.h src/lib/compress.h \
 src/lib/tar.h src/util/fileutil.h src/util/strutil.h \
 /usr/include/cjson/cJSON.h
src/lib/oci_archive.h:
include/beampush/store_oci.h:
include/beampush/common.h:
include/beampush/manifest.h:
include/beampush/digest.h:
src/lib/store_archive.h:
src/lib/compress.h:
src/lib/tar.h:
src/util/fileutil.h:
src/util/strutil.h:
/usr/include/cjson/cJSON.h:
