build-tsan/obj/src/lib/inspect_result.o: src/lib/inspect_result.c \
 src/lib/inspect_result.h include/beampush/inspect.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/manifest.h \
 src/util/strutil.h
src/lib/inspect_result.h:
include/beampush/inspect.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/manifest.h:
src/util/strutil.h:
