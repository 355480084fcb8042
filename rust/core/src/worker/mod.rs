//! Media workers: the only part of the core that does I/O or owns threads.
//!
//! A worker is one native thread with its own epoll loop, sockets, timers and every media
//! object created on it (mediasoup's worker process, as a thread). The packet path never
//! leaves the thread and never touches Python: datagrams arrive in `recvmmsg` batches into
//! buffers allocated once, are handled in place by the sans-IO protocol pieces, and leave in
//! `sendmmsg` batches. The owner talks to the worker through requests on a channel (with a
//! waker, so the loop needs no polling) and receives responses and events from an
//! [`EventQueue`] whose eventfd asyncio watches. A panic inside the worker ends that worker
//! alone, and its owner is told.

mod direct_transport;
mod egress_queue;
mod event_loop;
mod event_queue;
mod forward_queue;
pub mod log;
pub mod messages;
mod plain_transport;
mod ports;
mod send_ring;
mod socket_set;
mod tcp_connection;
mod transport;
mod tuple_sockets;
mod udp_batch;
mod webrtc_server;
mod webrtc_transport;

pub use egress_queue::{EgressQueue, IO_URING_VARIABLE};
pub use event_loop::{WorkerGone, WorkerHandle, WorkerSettings};
pub use event_queue::EventQueue;
pub use ports::{enlarge_receive_buffer, PortAllocator, PortChoice, PortError};
pub use tcp_connection::for_each_frame;
pub use udp_batch::{recv_batch, RecvBatch, SendBatch, BATCH, SLOT_LEN};
