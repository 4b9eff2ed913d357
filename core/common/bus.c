/* placeholder */ typedef int aduan_placeholder_t;
