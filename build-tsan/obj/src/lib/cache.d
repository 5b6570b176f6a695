build-tsan/obj/src/lib/cache.o: src/lib/cache.c src/lib/cache.h \
 include/beampush/common.h include/beampush/digest.h src/lib/userdirs.h \
 src/util/dynbuf.h src/util/strutil.h
src/lib/cache.h:
include/beampush/common.h:
include/beampush/digest.h:
src/lib/userdirs.h:
src/util/dynbuf.h:
src/util/strutil.h:
