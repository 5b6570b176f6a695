build-tsan/obj/tests/unit/test_compress.o: tests/unit/test_compress.c \
 src/lib/compress.h include/beampush/common.h include/beampush/digest.h
src/lib/compress.h:
include/beampush/common.h:
include/beampush/digest.h:
