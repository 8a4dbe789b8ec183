/* Target process for the attach tests: waits for one byte on stdin, then runs `n` rounds of a
 * function call, a libc call, two USDT probes (one behind a semaphore) and a few syscalls.
 * `attach_target N udp PORT` instead sends N UDP datagrams to 127.0.0.1:PORT from one new socket
 * (the cgroup tests move it into a cgroup before it starts). */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Probe semaphores: the kernel increments one while a uprobe with its ref_ctr_offset is attached.
 * oxbpf:gated only fires when its semaphore is set; oxbpf:args fires unconditionally. */
__extension__ unsigned short oxbpf_gated_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short oxbpf_args_semaphore __attribute__((unused)) __attribute__((section(".probes")));

volatile int sink;

__attribute__((noinline)) int oxbpf_target_add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	char c;

	if (read(0, &c, 1) != 1)
		return 2;
	if (argc > 3 && strcmp(argv[2], "udp") == 0) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0)
			return 3;
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (int i = 0; i < n; i++)
			if (sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
				return 4;
		close(fd);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		long long big = 0x123456789LL + i;
		short neg = (short)-i;
		int gated_fired = 0;

		DTRACE_PROBE3(oxbpf, args, i, big, neg);
		if (oxbpf_gated_semaphore) {
			DTRACE_PROBE1(oxbpf, gated, i * 10);
			gated_fired = 1;
		}
		sink = oxbpf_target_add(i, 100) + gated_fired;
		sink += getppid();
	}
	return 0;
}
