// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IRoutedPair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function feeBps() external view returns (uint16);
    function getReserves() external view returns (uint112, uint112, uint32);
    function mint(address to) external returns (uint256);
    function burn(address to) external returns (uint256, uint256);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @title TrafficRouter
/// @notice Stateless helper that turns "pay in, swap, pay out" into a single transaction, so a
///         traffic generator (or a test) needs one approval per token and one call per swap.
///         It holds no funds between calls and has no owner.
contract TrafficRouter {
    uint256 private constant BPS = 10_000;

    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut, uint16 feeBps)
        public
        pure
        returns (uint256)
    {
        require(amountIn > 0, "TrafficRouter: ZERO_INPUT");
        require(reserveIn > 0 && reserveOut > 0, "TrafficRouter: NO_LIQUIDITY");
        require(feeBps < BPS, "TrafficRouter: BAD_FEE");
        uint256 inAfterFee = amountIn * (BPS - feeBps);
        return (inAfterFee * reserveOut) / (reserveIn * BPS + inAfterFee);
    }

    function swapExactIn(
        address pair,
        address tokenIn,
        uint256 amountIn,
        uint256 minAmountOut,
        address to
    ) external returns (uint256 amountOut) {
        bool zeroForOne = _direction(pair, tokenIn);
        (uint112 r0, uint112 r1,) = IRoutedPair(pair).getReserves();
        uint16 fee = IRoutedPair(pair).feeBps();
        amountOut = zeroForOne
            ? getAmountOut(amountIn, r0, r1, fee)
            : getAmountOut(amountIn, r1, r0, fee);
        require(amountOut >= minAmountOut, "TrafficRouter: INSUFFICIENT_OUTPUT_AMOUNT");

        _pull(tokenIn, msg.sender, pair, amountIn);
        if (zeroForOne) {
            IRoutedPair(pair).swap(0, amountOut, to, "");
        } else {
            IRoutedPair(pair).swap(amountOut, 0, to, "");
        }
    }

    /// @notice Sends both amounts as given (no ratio balancing) and mints LP tokens to `to`; the
    ///         pair credits the smaller share, so callers should supply the pool's ratio.
    function addLiquidity(address pair, uint256 amount0, uint256 amount1, address to)
        external
        returns (uint256 liquidity)
    {
        _pull(IRoutedPair(pair).token0(), msg.sender, pair, amount0);
        _pull(IRoutedPair(pair).token1(), msg.sender, pair, amount1);
        liquidity = IRoutedPair(pair).mint(to);
    }

    /// @notice Needs an approval of the pair's LP token to this router.
    function removeLiquidity(address pair, uint256 liquidity, address to)
        external
        returns (uint256 amount0, uint256 amount1)
    {
        _pull(pair, msg.sender, pair, liquidity);
        (amount0, amount1) = IRoutedPair(pair).burn(to);
    }

    function _direction(address pair, address tokenIn) private view returns (bool zeroForOne) {
        if (tokenIn == IRoutedPair(pair).token0()) return true;
        require(tokenIn == IRoutedPair(pair).token1(), "TrafficRouter: TOKEN_NOT_IN_PAIR");
        return false;
    }

    /// @dev Accepts tokens that return nothing from transferFrom as well as those returning a bool.
    function _pull(address token, address from, address to, uint256 value) private {
        (bool ok, bytes memory ret) = token.call(
            abi.encodeWithSignature("transferFrom(address,address,uint256)", from, to, value)
        );
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "TrafficRouter: TRANSFER_FAILED");
    }
}
