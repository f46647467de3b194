//! Kubernetes resource quantities (`500m`, `128Mi`, `1G`, `1.5`, `2e3`), exactly.
//!
//! A quantity is kept as a fraction of two integers so `0.1` CPU is exactly 100 millicores and
//! `1.5Gi` exactly 1610612736 bytes; conversions round up, as Kubernetes does.

/// A non-negative quantity `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    num: u128,
    den: u128,
}

impl Quantity {
    /// Parses a quantity; the error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let t = text.trim();
        let bad = || format!("`{text}` is not a Kubernetes quantity (e.g. 500m, 128Mi, 1G, 1.5)");
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
            .unwrap_or(t.len());
        let (number, suffix) = t.split_at(split);
        let number = number.strip_prefix('+').unwrap_or(number);
        if number.is_empty() || number == "." {
            return Err(bad());
        }
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if frac.contains('.') || frac.len() > 18 || int.len() > 20 {
            return Err(bad());
        }
        let digits: u128 = format!("{int}{frac}").parse().map_err(|_| bad())?;
        let mut q = Quantity {
            num: digits,
            den: 10u128.pow(frac.len() as u32),
        };
        let (mul, div): (u128, u128) = match suffix {
            "" => (1, 1),
            "m" => (1, 1000),
            "u" => (1, 1_000_000),
            "n" => (1, 1_000_000_000),
            "k" => (1000, 1),
            "M" => (1000u128.pow(2), 1),
            "G" => (1000u128.pow(3), 1),
            "T" => (1000u128.pow(4), 1),
            "P" => (1000u128.pow(5), 1),
            "E" => (1000u128.pow(6), 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "Pi" => (1 << 50, 1),
            "Ei" => (1 << 60, 1),
            s if s.starts_with(['e', 'E']) => {
                let exp: i32 = s[1..].parse().map_err(|_| bad())?;
                if exp.abs() > 18 {
                    return Err(bad());
                }
                let p = 10u128.pow(exp.unsigned_abs());
                if exp >= 0 {
                    (p, 1)
                } else {
                    (1, p)
                }
            }
            _ => return Err(bad()),
        };
        q.num = q.num.checked_mul(mul).ok_or_else(bad)?;
        q.den = q.den.checked_mul(div).ok_or_else(bad)?;
        Ok(q)
    }

    /// The quantity as a whole number of units, rounded up (bytes for memory).
    pub fn ceil_units(self) -> u64 {
        u64::try_from(self.num.div_ceil(self.den)).unwrap_or(u64::MAX)
    }

    /// The quantity in thousandths, rounded up (millicores for CPU).
    pub fn ceil_millis(self) -> u64 {
        u64::try_from(self.num.saturating_mul(1000).div_ceil(self.den)).unwrap_or(u64::MAX)
    }

    /// `self / divisor`, rounded up (for `resourceFieldRef` divisors).
    pub fn ceil_div(self, divisor: Quantity) -> u64 {
        if divisor.num == 0 {
            return 0;
        }
        let num = self.num.saturating_mul(divisor.den);
        let den = self.den.saturating_mul(divisor.num);
        u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX)
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> u64 {
        Quantity::parse(s).unwrap().ceil_units()
    }
    fn millis(s: &str) -> u64 {
        Quantity::parse(s).unwrap().ceil_millis()
    }

    #[test]
    fn memory_suffixes() {
        assert_eq!(bytes("128Mi"), 128 * 1024 * 1024);
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("1.5Gi"), 1_610_612_736);
        assert_eq!(bytes("64k"), 64_000);
        assert_eq!(bytes("129e6"), 129_000_000);
        assert_eq!(bytes("1000"), 1000);
        assert_eq!(bytes("1500m"), 2);
    }

    #[test]
    fn cpu_in_millicores() {
        assert_eq!(millis("500m"), 500);
        assert_eq!(millis("1"), 1000);
        assert_eq!(millis("0.1"), 100);
        assert_eq!(millis("2.5"), 2500);
        assert_eq!(millis("100u"), 1);
    }

    #[test]
    fn divisors_round_up() {
        let q = Quantity::parse("1.5Gi").unwrap();
        assert_eq!(q.ceil_div(Quantity::parse("1Mi").unwrap()), 1536);
        assert_eq!(
            Quantity::parse("250m")
                .unwrap()
                .ceil_div(Quantity::parse("1").unwrap()),
            1
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "Mi", "1.2.3", "12Q", "-1", "1e99", "abc"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        // Huge but parseable values saturate instead of overflowing.
        let huge = Quantity::parse("99999999999999999999.999999999999999999").unwrap();
        assert_eq!(huge.ceil_millis(), u64::MAX);
        assert_eq!(
            Quantity::parse("99999999999999999999Ei")
                .unwrap()
                .ceil_units(),
            u64::MAX
        );
    }
}
