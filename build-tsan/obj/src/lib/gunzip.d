build-tsan/obj/src/lib/gunzip.o: src/lib/gunzip.c src/lib/gunzip.h \
 include/beampush/common.h
src/lib/gunzip.h:
include/beampush/common.h:
