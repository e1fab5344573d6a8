/* A 3-argument ELFNOTE(name, type, desc) as Linux's include/linux/elfnote.h and Xen's
 * xen/include/xen/elfnote.h shape it (written for xenlint's tests, not copied): the note
 * section is pushed with "a" and @note, name and descriptor padded to 4 bytes. */
#define ELFNOTE(name, type, desc)		\
	.pushsection .note.name, "a", @note;	\
	.balign 4;				\
	.long 2f - 1f;				\
	.long 4f - 3f;				\
	.long type;				\
1:	.asciz #name;				\
2:	.balign 4;				\
3:	desc;					\
4:	.balign 4;				\
	.popsection
