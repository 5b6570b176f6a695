build-tsan/obj/src/lib/compress.o: src/lib/compress.c src/lib/compress.h \
 include/beampush/common.h include/beampush/digest.h
src/lib/compress.h:
include/beampush/common.h:
include/beampush/digest.h:
