build-tsan/obj/src/lib/config.o: src/lib/config.c \
 include/beampush/config.h include/beampush/common.h \
 include/beampush/reference.h src/lib/userdirs.h src/util/dynbuf.h \
 src/util/fileutil.h src/util/strutil.h
include/beampush/config.h:
include/beampush/common.h:
include/beampush/reference.h:
src/lib/userdirs.h:
src/util/dynbuf.h:
src/util/fileutil.h:
src/util/strutil.h:
