build-tsan/obj/src/lib/userdirs.o: src/lib/userdirs.c src/lib/userdirs.h \
 src/util/strutil.h
src/lib/userdirs.h:
src/util/strutil.h:
