build-tsan/obj/src/lib/transport.o: src/lib/transport.c \
 include/beampush/transport.h include/beampush/common.h \
 src/util/strutil.h
include/beampush/transport.h:
include/beampush/common.h:
src/util/strutil.h:
