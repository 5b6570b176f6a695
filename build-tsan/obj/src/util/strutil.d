build-tsan/obj/src/util/strutil.o: src/util/strutil.c src/util/strutil.h \
 src/util/dynbuf.h
src/util/strutil.h:
src/util/dynbuf.h:
