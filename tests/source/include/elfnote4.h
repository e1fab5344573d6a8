/* A 4-argument ELFNOTE(name, type, desctype, descdata...) as FreeBSD's and NetBSD's machine
 * headers shape it (written for xenlint's tests, not copied). */
#define ELFNOTE(name, type, desctype, descdata...)	\
	.pushsection .note.name, "a", @note;		\
	.balign 4;					\
	.long 2f - 1f;					\
	.long 4f - 3f;					\
	.long type;					\
1:	.asciz #name;					\
2:	.balign 4;					\
3:	desctype descdata;				\
4:	.balign 4;					\
	.popsection
