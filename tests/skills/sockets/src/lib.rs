//! A skill that imports `wasi:sockets` (and no other risky WASI interface): without a grant it
//! must be refused at load; with `wasi = ["sockets"]` it loads, and every attempt (TCP
//! connect, TCP listen, UDP send, name lookup) must fail because no socket address is allowed.
//! Each outcome is a finding.
//!
//! It calls WASI directly rather than through `std::net`, which would also import
//! `wasi:filesystem` (wasi-libc shares one descriptor table between files and sockets).

use joule_sdk::prelude::*;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Network,
};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;
use wasip2::sockets::udp::OutgoingDatagram;
use wasip2::sockets::udp_create_socket::create_udp_socket;

struct Sockets;

const PAYLOAD: &[u8] = b"joule sockets skill was here\n";

fn v4(address: (u8, u8, u8, u8), port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address })
}

fn tcp_connect(net: &Network, port: u16) -> Result<String, ErrorCode> {
    let socket = create_tcp_socket(IpAddressFamily::Ipv4)?;
    socket.start_connect(net, v4((127, 0, 0, 1), port))?;
    let (_input, output) = loop {
        match socket.finish_connect() {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            other => break other?,
        }
    };
    let sent = output.blocking_write_and_flush(PAYLOAD);
    Ok(format!("connected, write: {sent:?}"))
}

fn tcp_listen(net: &Network) -> Result<String, ErrorCode> {
    let socket = create_tcp_socket(IpAddressFamily::Ipv4)?;
    socket.start_bind(net, v4((127, 0, 0, 1), 0))?;
    loop {
        match socket.finish_bind() {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            other => break other?,
        }
    }
    socket.start_listen()?;
    loop {
        match socket.finish_listen() {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            other => break other?,
        }
    }
    Ok(format!("listening on {:?}", socket.local_address()))
}

fn udp_send(net: &Network, port: u16) -> Result<String, ErrorCode> {
    let socket = create_udp_socket(IpAddressFamily::Ipv4)?;
    socket.start_bind(net, v4((0, 0, 0, 0), 0))?;
    loop {
        match socket.finish_bind() {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            other => break other?,
        }
    }
    let (_incoming, outgoing) = socket.stream(None)?;
    outgoing.subscribe().block();
    let permitted = outgoing.check_send()?;
    let sent = outgoing.send(&[OutgoingDatagram {
        data: PAYLOAD.to_vec(),
        remote_address: Some(v4((127, 0, 0, 1), port)),
    }])?;
    Ok(format!("sent {sent} datagrams ({permitted} permitted)"))
}

fn lookup(net: &Network, name: &str) -> Result<String, ErrorCode> {
    let stream = resolve_addresses(net, name)?;
    let mut found = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
            Ok(Some(address)) => found.push(format!("{address:?}")),
            Ok(None) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(format!("resolved {}", found.join(", ")))
}

fn attempt(findings: &mut Vec<Finding>, what: &str, result: Result<String, ErrorCode>) {
    let message = match result {
        Ok(done) => format!("OK: {done}"),
        Err(e) => format!("error: {}", e.name()),
    };
    findings.push(
        Finding::info("socket-attempt")
            .title(what.to_string())
            .message(message)
            .label("fingerprint", what.to_string())
            .build(),
    );
}

impl Skill for Sockets {
    fn describe() -> Descriptor {
        Describe::new("sockets", "0.1.0", "Tries to use the network.")
            .parameter(
                "port",
                "A TCP and UDP port on 127.0.0.1 to reach.",
                Some("9"),
            )
            .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let port: u16 = invocation.param_or("port", 9)?;
        let net = instance_network();
        let mut findings = Vec::new();
        attempt(&mut findings, "tcp connect", tcp_connect(&net, port));
        attempt(&mut findings, "tcp listen", tcp_listen(&net));
        attempt(&mut findings, "udp send", udp_send(&net, port));
        attempt(
            &mut findings,
            "resolve localhost",
            lookup(&net, "localhost"),
        );
        Ok(findings)
    }
}

export_skill!(Sockets);
