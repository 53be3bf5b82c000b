/*
 * banned - make unsafe libc calls compile errors
 *
 * Included last by every .c file (through the build's -include flag).
 * Anything here has a bounded or argv-based replacement: sbuf_addf()
 * for sprintf/strcat, snprintf with a checked result, spawn for system().
 */
#ifndef MXFEED_BANNED_H
#define MXFEED_BANNED_H

/*
 * The build includes this file before anything else (-include), so pull
 * in the system headers that declare or inline the banned names first;
 * their include guards make later #includes no-ops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_banned

#undef strcpy
#define strcpy(a, b) BANNED(strcpy)
#undef strcat
#define strcat(a, b) BANNED(strcat)
#undef strncpy
#define strncpy(a, b, c) BANNED(strncpy)
#undef strncat
#define strncat(a, b, c) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(a) BANNED(gets)
#undef strtok
#define strtok(a, b) BANNED(strtok)
#undef system
#define system(a) BANNED(system)
#undef popen
#define popen(a, b) BANNED(popen)
#undef atoi
#define atoi(a) BANNED(atoi)
#undef atol
#define atol(a) BANNED(atol)
#undef localtime
#define localtime(a) BANNED(localtime)
#undef gmtime
#define gmtime(a) BANNED(gmtime)
#undef mktemp
#define mktemp(a) BANNED(mktemp)

#endif
