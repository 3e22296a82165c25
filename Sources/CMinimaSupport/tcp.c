#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>

long long minima_tcp_bytes_received(int fd) {
    struct tcp_info info;
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    if (length < (socklen_t)(offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received))) return -1;
    return (long long)info.tcpi_bytes_received;
}

int minima_shutdown_socket(int fd) { return shutdown(fd, SHUT_RDWR); }
