build-tsan/obj/src/lib/v1id.o: src/lib/v1id.c src/lib/v1id.h \
 include/beampush/digest.h include/beampush/common.h src/util/dynbuf.h
src/lib/v1id.h:
include/beampush/digest.h:
include/beampush/common.h:
src/util/dynbuf.h:
