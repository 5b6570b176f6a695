build-tsan/obj/src/lib/version.o: src/lib/version.c \
 include/beampush/version.h src/lib/compress.h include/beampush/common.h \
 include/beampush/digest.h src/lib/gunzip.h src/lib/http.h \
 src/util/dynbuf.h src/lib/keyring.h
include/beampush/version.h:
src/lib/compress.h:
include/beampush/common.h:
include/beampush/digest.h:
src/lib/gunzip.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/keyring.h:
