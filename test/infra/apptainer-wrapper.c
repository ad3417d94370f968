// /usr/local/bin/apptainer (and singularity) on Debian 12: runs Debian sid's apptainer from the root that
// test/infra/apptainer.sh builds (EMFLOW_ROOT, compiled in), in a mount namespace of its own pivoted into that root
// (apptainer refuses a plain chroot). Built and installed by test/infra/apptainer.sh: edit this, not the binary.
//
// - Bound at their own paths, so paths the caller passes mean the same inside: /proc, /dev (so /dev/shm), /sys,
//   the host's user folders (EMFLOW_DIRS, when they exist), the caller's own top folder and the folders in
//   APPTAINER_WRAPPER_BINDS=/a:/b. /run is an empty tmpfs. The working directory is kept (/ if not visible; under
//   a system folder such as /usr or /var/lib it is the sid root's folder of that name).
// - One process, no shell: it execs apptainer, which so has the caller's PID; signals, exit status, stdin,
//   stdout and stderr are apptainer's own. Mounts are private to the namespace (slave: host mounts made later
//   still show inside) and vanish with it.
// - As root: a new mount namespace. Otherwise: a user namespace mapping the caller to itself first (apptainer
//   then runs unprivileged) and the host's /etc/passwd and /etc/group are bound too.
// Failures to set up exit with 125 and a line on stderr starting "apptainer wrapper:".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef EMFLOW_ROOT
#error "build with -DEMFLOW_ROOT=\"/var/cache/emflow/apptainer-sid\""
#endif
#ifndef EMFLOW_DIRS
#define EMFLOW_DIRS "/work:/root:/home:/tmp:/srv:/mnt:/opt:/media:/data:/var/tmp"
#endif
#ifndef EMFLOW_BUILD_ID
#define EMFLOW_BUILD_ID "unknown"
#endif
// apptainer.sh finds this in the binary to tell whether the installed wrapper is the current one
const char emflow_wrapper_id[] = "emflow-apptainer-wrapper " EMFLOW_BUILD_ID;

static const char *root = EMFLOW_ROOT;

static void fail(const char *format, ...) {
  int saved = errno;
  va_list args;
  va_start(args, format);
  fputs("apptainer wrapper: ", stderr);
  vfprintf(stderr, format, args);
  va_end(args);
  if (saved) fprintf(stderr, ": %s", strerror(saved));
  fputc('\n', stderr);
  exit(125);
}

static char *inside(const char *path) {
  char *joined;
  if (asprintf(&joined, "%s%s", root, path) < 0) fail("out of memory");
  return joined;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void bind(const char *path, unsigned long flags) {
  char *target = inside(path);
  errno = 0;
  if (mount(path, target, NULL, MS_BIND | flags, NULL) != 0) fail("cannot bind %s onto %s", path, target);
  free(target);
}

// folders a user's files may live in: bound when the host has them (their mount point is made if missing)
static void bind_folders(const char *list) {
  char *copy = strdup(list), *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    if (dir[0] != '/' || strcmp(dir, "/") == 0 || !is_dir(dir)) continue;
    char *target = inside(dir);
    if (!is_dir(target)) {
      // only a top folder (e.g. /data) may be new; without the right to make it, it is just not visible
      if (mkdir(target, 0755) != 0 && errno != EEXIST) { free(target); continue; }
    }
    errno = 0;
    if (mount(dir, target, NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind %s", dir);
    free(target);
  }
  free(copy);
}

// the caller's top folder (/work for /work/main), unless it is a system folder that the sid root has its own of
static char *top_folder(const char *cwd) {
  static const char *system[] = {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr", "/var", NULL};
  if (!cwd || cwd[0] != '/' || cwd[1] == 0) return strdup("");
  const char *end = strchr(cwd + 1, '/');
  char *top = strndup(cwd, end ? (size_t)(end - cwd) : strlen(cwd));
  for (int i = 0; system[i]; i++) if (strcmp(top, system[i]) == 0) { free(top); return strdup(""); }
  return top;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  errno = 0;
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail("cannot write %s", path);
  close(fd);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  const char *name = strcmp(base, "singularity") == 0 ? "singularity" : "apptainer";
  char *program = inside("/usr/bin/apptainer"), *marker = inside("/.emflow-recipe");
  if (access(program, X_OK) != 0 || access(marker, F_OK) != 0) {
    errno = 0;
    fprintf(stderr, "apptainer wrapper: %s is missing or incomplete: run test/infra/apptainer.sh\n", root);
    return 127;
  }
  char *cwd = getcwd(NULL, 0);
  uid_t uid = geteuid();
  gid_t gid = getegid();

  errno = 0;
  if (uid == 0) {
    if (unshare(CLONE_NEWNS) != 0) fail("cannot make a mount namespace (unshare)");
  } else {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) fail("cannot make a user and mount namespace (unshare)");
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    write_file("/proc/self/gid_map", map);
  }
  errno = 0;
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) fail("cannot make / a slave mount");
  errno = 0;
  if (mount(root, root, NULL, MS_BIND, NULL) != 0) fail("cannot bind %s onto itself", root);
  bind("/proc", MS_REC);
  bind("/dev", MS_REC);
  bind("/sys", MS_REC);
  char *run = inside("/run");
  errno = 0;
  if (mount("tmpfs", run, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m") != 0) fail("cannot mount a tmpfs on %s", run);
  bind_folders(EMFLOW_DIRS);
  char *top = top_folder(cwd), *listed;
  if (asprintf(&listed, ":%s:", EMFLOW_DIRS) < 0) fail("out of memory");
  char *needle;
  if (asprintf(&needle, ":%s:", top) < 0) fail("out of memory");
  if (*top && !strstr(listed, needle)) bind_folders(top);
  const char *extra = getenv("APPTAINER_WRAPPER_BINDS");
  if (extra) bind_folders(extra);
  if (uid != 0) {
    bind("/etc/passwd", 0);
    bind("/etc/group", 0);
  }
  errno = 0;
  if (chdir(root) != 0) fail("cannot enter %s", root);
  errno = 0;
  if (syscall(SYS_pivot_root, ".", ".oldroot") != 0) fail("cannot pivot_root into %s", root);
  errno = 0;
  if (chdir("/") != 0 || umount2("/.oldroot", MNT_DETACH) != 0) fail("cannot detach the old root");
  if (!cwd || chdir(cwd) != 0) {
    if (chdir("/") != 0) fail("cannot enter /");
  }

  // the caller's PATH, then the sid root's usual folders (apptainer runs mksquashfs and friends from PATH)
  const char *path = getenv("PATH");
  char *full;
  if (asprintf(&full, "%s%s/usr/sbin:/usr/bin:/sbin:/bin", path && *path ? path : "", path && *path ? ":" : "") < 0) fail("out of memory");
  setenv("PATH", full, 1);
  char target[64];
  snprintf(target, sizeof target, "/usr/bin/%s", name);
  argv[0] = (char *)name;
  execv(target, argv);
  fail("cannot run %s", target);
}
