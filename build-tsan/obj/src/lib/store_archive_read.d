build-tsan/obj/src/lib/store_archive_read.o: src/lib/store_archive_read.c \
 src/lib/store_archive_int.h src/lib/store_archive.h \
 include/beampush/common.h include/beampush/digest.h \
 include/beampush/manifest.h src/lib/compress.h src/lib/tar.h \
 src/util/fileutil.h /usr/include/cjson/cJSON.h
src/lib/store_archive_int.h:
src/lib/store_archive.h:
include/beampush/common.h:
include/beampush/digest.h:
include/beampush/manifest.h:
src/lib/compress.h:
src/lib/tar.h:
src/util/fileutil.h:
/usr/include/cjson/cJSON.h:
