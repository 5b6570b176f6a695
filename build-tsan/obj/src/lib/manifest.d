build-tsan/obj/src/lib/manifest.o: src/lib/manifest.c \
 include/beampush/manifest.h include/beampush/common.h \
 include/beampush/digest.h src/util/dynbuf.h src/util/strutil.h
include/beampush/manifest.h:
include/beampush/common.h:
include/beampush/digest.h:
src/util/dynbuf.h:
src/util/strutil.h:
