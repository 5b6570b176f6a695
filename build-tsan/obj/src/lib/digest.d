build-tsan/obj/src/lib/digest.o: src/lib/digest.c \
 include/beampush/digest.h include/beampush/common.h
include/beampush/digest.h:
include/beampush/common.h:
