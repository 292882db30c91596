/*
 * host_port.c — the port interface (app/ports.h) on Linux: the LED is a
 * state printed on stdout and traced to a file, logs go to stdout, the UART
 * is a tty or pseudo-terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "host_port.h"
#include "ports.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *trace;
static int uart_fd = -1;
static int uart_keep_fd = -1; /* our own open slave: no hang-up when the peer closes */
static int stopped;
static int last_level = -1; /* the trace records changes (and the first write) */
static struct timespec t0;
static pthread_once_t t0_once = PTHREAD_ONCE_INIT;

static void init_t0(void)
{
    clock_gettime(CLOCK_MONOTONIC, &t0);
}

double host_now_ms(void)
{
    pthread_once(&t0_once, init_t0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0.tv_sec) * 1000.0 + (double)(now.tv_nsec - t0.tv_nsec) / 1e6;
}

void port_init(void)
{
}

bool host_trace_open(const char *path)
{
    trace = fopen(path, "a");
    if (trace == NULL) {
        fprintf(stderr, "ledfw-host: cannot open trace file %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

void port_led_write(bool on)
{
    double t = host_now_ms();
    pthread_mutex_lock(&out_lock);
    if (!stopped && trace != NULL && last_level != (on ? 1 : 0)) {
        fprintf(trace, "%.3f,%d\n", t, on ? 1 : 0);
        fflush(trace);
    }
    last_level = on ? 1 : 0;
    pthread_mutex_unlock(&out_lock);
}

void host_led_final_off(void)
{
    port_led_write(false);
    pthread_mutex_lock(&out_lock);
    stopped = 1;
    if (trace != NULL) {
        fclose(trace);
        trace = NULL;
    }
    pthread_mutex_unlock(&out_lock);
}

void port_log(const char *line)
{
    pthread_mutex_lock(&out_lock);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static bool make_raw(int fd, const char *what)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        fprintf(stderr, "ledfw-host: %s is not a terminal: %s\n", what, strerror(errno));
        return false;
    }
    cfmakeraw(&tio);
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        fprintf(stderr, "ledfw-host: cannot set %s to raw mode: %s\n", what, strerror(errno));
        return false;
    }
    return true;
}

bool host_uart_open(const char *spec)
{
    if (strcmp(spec, "pty") == 0) {
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
            fprintf(stderr, "ledfw-host: cannot create a pseudo-terminal: %s\n", strerror(errno));
            return false;
        }
        const char *name = ptsname(m);
        int s = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
        if (s < 0 || !make_raw(s, name)) {
            fprintf(stderr, "ledfw-host: cannot open the pseudo-terminal's other end\n");
            return false;
        }
        uart_fd = m;
        uart_keep_fd = s;
        char line[96];
        snprintf(line, sizeof line, "uart on %s", name);
        port_log(line);
        return true;
    }
    int fd = open(spec, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ledfw-host: cannot open UART %s: %s\n", spec, strerror(errno));
        return false;
    }
    if (!make_raw(fd, spec)) {
        close(fd);
        return false;
    }
    uart_fd = fd;
    char line[96];
    snprintf(line, sizeof line, "uart on %s", spec);
    port_log(line);
    return true;
}

int port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    if (uart_fd < 0) {
        return -1;
    }
    struct pollfd p = {uart_fd, POLLIN, 0};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms == UINT32_MAX ? -1 : (int)timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        return 0;
    }
    ssize_t n = read(uart_fd, buf, cap);
    if (n > 0) {
        return (int)n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return 0;
    }
    return -1;
}

bool port_uart_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(uart_fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}
