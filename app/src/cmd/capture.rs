//! `wcfscope capture`: live capture on an interface, printing each message as it is
//! analysed (text: one line each; json: one JSON object per line, the report's message
//! fields), optionally saving the packets (`-w`).

use std::path::PathBuf;

use super::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Interface to capture on (see --list).
    #[arg(short = 'i', long = "interface", required_unless_present = "list")]
    pub interface: Option<String>,
    /// List the capture devices and exit.
    #[arg(long)]
    pub list: bool,
    /// BPF capture filter (tcpdump syntax), e.g. "tcp port 8080".
    #[arg(short = 'f', long = "filter")]
    pub filter: Option<String>,
    /// Save the packets: pcapng, or classic pcap when the name ends in .pcap.
    #[arg(short = 'w', long = "write")]
    pub write: Option<PathBuf>,
    /// Key to load: PATH[:PASSWORD] or hex:HEX.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, conflicts_with = "count")]
    pub duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promiscuous: bool,
}

#[cfg(not(feature = "live"))]
pub fn run(_args: Args) -> anyhow::Result<u8> {
    eprintln!("wcfscope: {}", wcfscope_core::live::NO_LIVE_SUPPORT);
    Ok(1)
}

#[cfg(feature = "live")]
pub fn run(args: Args) -> anyhow::Result<u8> {
    use anyhow::Context;
    use std::io::Write;
    use std::time::{Duration, Instant};
    use wcfscope_core::analyzer::{Analyzer, Options};
    use wcfscope_core::live::{
        list_devices, CaptureWriter, LiveCapture, LiveConfig, LiveEvent, SaveFormat,
    };
    use wcfscope_core::model::CaptureFormat;
    use wcfscope_core::report::short_name;

    if args.list {
        for d in list_devices()? {
            println!(
                "{}\t{}\t{}\t{}",
                d.name,
                d.flags.join(","),
                d.addresses.join(" "),
                d.description.unwrap_or_default()
            );
        }
        return Ok(0);
    }
    let interface = args.interface.clone().context("-i INTERFACE is required")?;
    let mut config = LiveConfig::new(interface.clone());
    config.filter = args.filter.clone();
    config.promiscuous = !args.no_promiscuous;
    let capture = match LiveCapture::start(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wcfscope: {e}");
            return Ok(1);
        }
    };
    let mut writer = match &args.write {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Some(CaptureWriter::new(
                std::io::BufWriter::new(file),
                SaveFormat::for_path(path),
                config.snaplen as u32,
            )?)
        }
        None => None,
    };
    let options = Options {
        keys: args.keys.clone(),
        skip_details: true,
        ..Options::default()
    };
    let mut analyzer = Analyzer::new(format!("live:{interface}"), CaptureFormat::Pcapng, options);
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut packets = 0u64;
    // Messages go to standard output as they settle. The first failed write (the reader of
    // a pipe went away: `wcfscope capture … | head`) is kept, nothing more is printed and
    // the capture stops; println! would panic.
    let mut output_error: Option<std::io::Error> = None;
    let mut stdout = std::io::stdout().lock();
    let mut print = |m: &wcfscope_core::model::MessageInfo| match args.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string(m).unwrap_or_default()),
        Format::Text => writeln!(
            stdout,
            "#{:<4} {} {:?} {} {:?} {:?}{}",
            m.index,
            m.ts.map(|t| t.to_string()).unwrap_or_default(),
            m.direction,
            short_name(m),
            m.decryption,
            m.signature,
            m.session
                .as_deref()
                .map(|s| format!(" session {s}"))
                .unwrap_or_default()
        ),
    };
    let mut emit = |m: &wcfscope_core::model::MessageInfo| {
        if output_error.is_none() {
            output_error = print(m).err();
        }
        output_error.is_none()
    };
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            capture.request_stop();
        }
        match capture.events.recv_timeout(Duration::from_millis(100)) {
            Ok(LiveEvent::Packet(p)) => {
                packets += 1;
                if let Some(w) = writer.as_mut() {
                    w.write_packet(&p)
                        .context("cannot write the capture file")?;
                }
                analyzer.push_packet(&p);
                for s in analyzer.take_settled() {
                    if !emit(&s.info) {
                        capture.request_stop();
                    }
                }
                if args.count.is_some_and(|c| packets >= c) {
                    capture.request_stop();
                }
            }
            Ok(LiveEvent::Stats {
                received,
                dropped,
                if_dropped,
            }) => {
                if dropped > 0 || if_dropped > 0 {
                    eprintln!("wcfscope: {received} received, {dropped} dropped by the kernel, {if_dropped} by the interface");
                }
            }
            Ok(LiveEvent::Error(e)) => eprintln!("wcfscope: capture error: {e}"),
            Ok(LiveEvent::Stopped) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let total = analyzer.message_count();
    // Messages settled only by the end of the capture (e.g. a request never answered).
    let (rest, summary) = analyzer.finish_parts();
    for s in rest {
        emit(&s.info);
    }
    if let Some(e) = output_error {
        return Err(e).context("cannot write the messages");
    }
    eprintln!(
        "wcfscope: {packets} packets, {total} messages, {} sessions",
        summary.sessions.len()
    );
    Ok(0)
}
