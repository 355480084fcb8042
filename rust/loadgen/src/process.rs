//! CPU time and resident memory of another process, from /proc.

/// One reading of a process's counters.
#[derive(Clone, Copy)]
pub struct ProcessSample {
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_bytes: u64,
}

/// Reads utime + stime (fields 14 and 15 of /proc/<pid>/stat) and the resident set (field 2
/// of /proc/<pid>/statm, in pages); `None` once the process is gone.
pub fn sample(pid: u32) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(ProcessSample {
        cpu_ticks: cpu_ticks(&stat)?,
        rss_bytes: resident_pages * page_size(),
    })
}

/// CPU time, in clock ticks, of one thread `tid` of process `pid` (/proc/<pid>/stat, and
/// /proc/<tid>/stat too, count every thread of the process); `None` once it is gone.
pub fn thread_cpu_ticks(pid: u32, tid: u32) -> Option<u64> {
    cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?)
}

/// utime + stime from the text of /proc/<pid>/stat. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted from the last ')'.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (mediasoup (w) 1) S 1 4242 4242 0 -1 4194560 2469 0 0 0 \
                    1500 250 0 0 20 0 2 0 8000 1000000 3000";
        assert_eq!(cpu_ticks(stat), Some(1750));
    }

    #[test]
    fn this_process_can_be_sampled() {
        let own = sample(std::process::id()).unwrap();
        assert!(own.rss_bytes > 0);
    }
}
