build-tsan/obj/src/util/fileutil.o: src/util/fileutil.c \
 src/util/fileutil.h src/util/dynbuf.h src/util/strutil.h
src/util/fileutil.h:
src/util/dynbuf.h:
src/util/strutil.h:
