build-tsan/obj/src/lib/state.o: src/lib/state.c src/lib/state.h \
 src/lib/userdirs.h include/beampush/digest.h include/beampush/common.h \
 src/util/fileutil.h src/util/strutil.h
src/lib/state.h:
src/lib/userdirs.h:
include/beampush/digest.h:
include/beampush/common.h:
src/util/fileutil.h:
src/util/strutil.h:
