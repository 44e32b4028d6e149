/// An amount of money in US dollars, held as integer nanodollars so sums are exact.
///
/// Prices are quoted per million tokens; one token at $1/M costs 1 000 nanodollars.
public struct Money: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanodollars: Int64

    public init(nanodollars: Int64) { self.nanodollars = nanodollars }

    /// From a dollar figure such as `0.59`; rounded to the nearest nanodollar.
    public init(dollars: Double) {
        self.nanodollars = Int64((dollars * 1_000_000_000).rounded())
    }

    public static let zero = Money(nanodollars: 0)

    public var dollars: Double { Double(nanodollars) / 1_000_000_000 }

    public static func + (lhs: Money, rhs: Money) -> Money { Money(nanodollars: lhs.nanodollars &+ rhs.nanodollars) }
    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(nanodollars: lhs.nanodollars &- rhs.nanodollars) }
    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.nanodollars < rhs.nanodollars }

    /// `$0.000123` style: enough digits to show sub-cent amounts, trailing zeros trimmed.
    public var description: String {
        let d = dollars
        if nanodollars == 0 { return "$0" }
        let magnitude = Swift.abs(d)
        let digits: Int = magnitude >= 1 ? 2 : magnitude >= 0.01 ? 4 : 6
        return "$" + Self.format(d, digits: digits)
    }

    static func format(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        let negative = rounded < 0
        let whole = Int64(Swift.abs(rounded))
        let fraction = Int64(((Swift.abs(rounded) - Double(whole)) * scale).rounded())
        var frac = String(fraction)
        while frac.count < digits { frac = "0" + frac }
        while frac.count > 2 && frac.hasSuffix("0") { frac.removeLast() }
        return (negative ? "-" : "") + String(whole) + (frac.isEmpty ? "" : "." + frac)
    }
}

/// What an attempt, step or run cost: money for priced tokens, and a count of tokens that had no price.
///
/// A model with no known price is *unpriced*: its tokens are counted here and the total is
/// shown as "unpriced", never as $0.
public struct Cost: Codable, Sendable, Hashable {
    public var money: Money
    public var unpricedTokens: Int

    public init(money: Money = .zero, unpricedTokens: Int = 0) {
        self.money = money
        self.unpricedTokens = unpricedTokens
    }

    public static let zero = Cost()

    public var isFullyPriced: Bool { unpricedTokens == 0 }

    public static func + (lhs: Cost, rhs: Cost) -> Cost {
        Cost(money: lhs.money + rhs.money, unpricedTokens: lhs.unpricedTokens + rhs.unpricedTokens)
    }
    public static func += (lhs: inout Cost, rhs: Cost) { lhs = lhs + rhs }

    /// `$0.0123`, `$0.0123 + unpriced (1 234 tok)`, or `unpriced`.
    public var display: String {
        if unpricedTokens == 0 { return money.description }
        if money == .zero { return "unpriced" }
        return "\(money) + unpriced"
    }
}
