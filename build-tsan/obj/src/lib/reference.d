build-tsan/obj/src/lib/reference.o: src/lib/reference.c \
 include/beampush/digest.h include/beampush/common.h \
 include/beampush/reference.h src/util/strutil.h
include/beampush/digest.h:
include/beampush/common.h:
include/beampush/reference.h:
src/util/strutil.h:
