/*
 * app_config.h — the one place for the firmware's network and tuning
 * settings. Board builds use these defaults as they are; the host build
 * (host/main.c) starts from them and overrides some from its command line.
 *
 * Seed 000 used a Python server on port 12345 at 192.168.1.100. ledctl's
 * server (`ledctl serve`) listens on port 10000, so that is the default
 * here; set APP_SERVER_PORT to 12345 to talk to the seed's Python server.
 */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

/* The board's static IPv4 address (CubeMX: LwIP, DHCP off). */
#define APP_LOCAL_IP "192.168.1.50"
#define APP_NETMASK "255.255.255.0"
#define APP_GATEWAY "192.168.1.1"

/* The PC running `ledctl serve` (seed 000: 192.168.1.100, port 12345). */
#define APP_SERVER_IP "192.168.1.100"
#define APP_SERVER_PORT 10000u

/* The seed's client tasks "Client 1" … "Client N" started by app_start(). */
#define APP_CLIENT_TASKS 2u

/* A test fixture: client tasks that connect and stay silent, to show the
 * server's idle timeout. The host build turns it on; boards leave it out. */
#ifndef APP_WITH_SILENT_CLIENT
#define APP_WITH_SILENT_CLIENT 0
#endif

/* The LED command listener (the stm32 HAL's `tcp:<board-ip>:7000`). */
#define APP_LISTEN_PORT 7000u
/* Simultaneous listener clients: a static pool of this many session tasks. */
#define APP_MAX_CLIENTS 4u
/* Close a listener client silent this long (0 = never), like the server. */
#define APP_IDLE_TIMEOUT_MS 10000u
/* A partial line (no LF yet) counts as complete after this much silence. */
#define APP_FRAME_TIMEOUT_MS 100u
/* How long a client task waits for the server's reply. */
#define APP_CLIENT_REPLY_TIMEOUT_MS 5000u
/* How long a closing session drains unread input before closing anyway. */
#define APP_CLOSE_DRAIN_MS 500u

/* Longest request line in bytes, not counting its CR LF (wire protocol v1). */
#define APP_LINE_MAX 1024 /* plain digits: it is also stringified */

/* FreeRTOS task settings (stack sizes in words, as xTaskCreate takes them). */
#define APP_TASK_PRIORITY 2u
#define APP_LED_TASK_PRIORITY 3u
#define APP_CLIENT_STACK_WORDS 512u
#define APP_SESSION_STACK_WORDS 768u
#define APP_LISTENER_STACK_WORDS 512u
#define APP_LED_STACK_WORDS 384u

#endif /* APP_CONFIG_H */
