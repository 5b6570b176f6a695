build-tsan/obj/src/util/dynbuf.o: src/util/dynbuf.c src/util/dynbuf.h
src/util/dynbuf.h:
