build-tsan/obj/src/lib/error.o: src/lib/error.c include/beampush/common.h
include/beampush/common.h:
