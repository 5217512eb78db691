// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IArbPair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data)
        external;
}

interface IArbToken {
    function balanceOf(address owner) external view returns (uint256);
}

/// @title ArbExecutor
/// @notice Runs a two-pool arbitrage between two constant-product V2 pairs of the same tokens:
///         buy in one pair, sell in the other, keep the difference. The contract holds the
///         trading capital itself, so the owner's account only pays gas, and the whole trade
///         reverts unless it ends with at least `minProfit` more of the input token.
contract ArbExecutor {
    uint256 private constant BPS = 10_000;

    address public immutable owner;

    event Arbitrage(
        address indexed pairBuy,
        address indexed pairSell,
        address indexed tokenIn,
        uint256 amountIn,
        uint256 profit
    );

    error NotOwner();
    error SamePair(address pair);
    error PairTokensMismatch(address pairBuy, address pairSell);
    error TokenNotInPair(address token);
    error InvalidFee(uint16 feeBps);
    error ProfitBelowMinimum(uint256 got, uint256 minimum);
    error TransferFailed();
    error NativeTransferFailed();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    receive() external payable {}

    /// @notice Swaps `amountIn` of `tokenIn` for the other token in `pairBuy`, sells all of it
    ///         back in `pairSell`, and returns the gain in `tokenIn`.
    /// @dev The fees are the caller's belief about each pair (V2 pairs do not publish theirs).
    ///      A fee set too low asks a pair for more than it gives, and its K check reverts the
    ///      trade; a fee set too high only leaves a little output in the pair.
    function execute(
        address pairBuy,
        uint16 feeBuyBps,
        address pairSell,
        uint16 feeSellBps,
        address tokenIn,
        uint256 amountIn,
        uint256 minProfit
    ) external onlyOwner returns (uint256 profit) {
        bool inIsToken0 = _direction(pairBuy, pairSell, tokenIn);
        uint256 balanceBefore = IArbToken(tokenIn).balanceOf(address(this));
        {
            // pairSell's reserves are untouched by the first leg (only its balance grows), so
            // both quotes can be taken up front.
            uint256 middle = _quote(pairBuy, feeBuyBps, amountIn, inIsToken0);
            uint256 back = _quote(pairSell, feeSellBps, middle, !inIsToken0);
            // Failing here, before any transfer, keeps a trade that lost its gap cheap to revert.
            _requireProfit(amountIn, back, minProfit);
            _safeTransfer(tokenIn, pairBuy, amountIn);
            // The first leg pays pairSell directly, which saves a token transfer.
            if (inIsToken0) {
                IArbPair(pairBuy).swap(0, middle, pairSell, "");
                IArbPair(pairSell).swap(back, 0, address(this), "");
            } else {
                IArbPair(pairBuy).swap(middle, 0, pairSell, "");
                IArbPair(pairSell).swap(0, back, address(this), "");
            }
        }
        // The balance, not the quote, is the final word: it also catches tokens that deliver
        // less than they were asked to.
        uint256 balanceAfter = IArbToken(tokenIn).balanceOf(address(this));
        profit = _requireProfit(balanceBefore, balanceAfter, minProfit);
        emit Arbitrage(pairBuy, pairSell, tokenIn, amountIn, profit);
    }

    function withdraw(address token, uint256 amount, address to) external onlyOwner {
        _safeTransfer(token, to, amount);
    }

    function withdrawNative(uint256 amount, address payable to) external onlyOwner {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert NativeTransferFailed();
    }

    /// @dev `last - first`, or a ProfitBelowMinimum revert (with a loss reported as 0 gained)
    ///      when that is negative or below `minProfit`; written without `first + minProfit` so
    ///      no minimum, however large, overflows into a panic instead of the named error.
    function _requireProfit(uint256 first, uint256 last, uint256 minProfit)
        private
        pure
        returns (uint256 gained)
    {
        gained = last > first ? last - first : 0;
        if (last < first || gained < minProfit) revert ProfitBelowMinimum(gained, minProfit);
    }

    /// @dev Whether `tokenIn` is token0 of both pairs, after checking that the two pairs are
    ///      distinct and trade the same two tokens in the same order.
    function _direction(address pairBuy, address pairSell, address tokenIn)
        private
        view
        returns (bool)
    {
        if (pairBuy == pairSell) revert SamePair(pairBuy);
        address token0 = IArbPair(pairBuy).token0();
        address token1 = IArbPair(pairBuy).token1();
        if (token0 != IArbPair(pairSell).token0() || token1 != IArbPair(pairSell).token1()) {
            revert PairTokensMismatch(pairBuy, pairSell);
        }
        if (tokenIn != token0 && tokenIn != token1) revert TokenNotInPair(tokenIn);
        return tokenIn == token0;
    }

    /// @dev The V2 output for `amountIn` at the pair's current reserves, rounded down exactly as
    ///      the pair's K check allows, so asking for it never leaves more than dust behind.
    function _quote(address pair, uint16 feeBps, uint256 amountIn, bool inIsToken0)
        private
        view
        returns (uint256)
    {
        if (feeBps >= BPS) revert InvalidFee(feeBps);
        (uint112 r0, uint112 r1,) = IArbPair(pair).getReserves();
        (uint256 reserveIn, uint256 reserveOut) = inIsToken0 ? (r0, r1) : (r1, r0);
        uint256 amountInWithFee = amountIn * (BPS - feeBps);
        return (amountInWithFee * reserveOut) / (reserveIn * BPS + amountInWithFee);
    }

    /// @dev Accepts tokens that return nothing from transfer as well as those returning a bool.
    ///      A call to an address without code "succeeds" with no return data, so that is refused:
    ///      a mistyped token address must not look like a successful withdrawal.
    function _safeTransfer(address token, address to, uint256 value) private {
        if (token.code.length == 0) revert TransferFailed();
        (bool ok, bytes memory ret) =
            token.call(abi.encodeWithSignature("transfer(address,uint256)", to, value));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }
}
