build-tsan/obj/src/lib/tar.o: src/lib/tar.c src/lib/tar.h \
 include/beampush/common.h src/util/dynbuf.h src/util/strutil.h
src/lib/tar.h:
include/beampush/common.h:
src/util/dynbuf.h:
src/util/strutil.h:
