// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IPairToken {
    function balanceOf(address owner) external view returns (uint256);
}

/// @title PairV2
/// @notice A constant-product pair for local chains whose external interface and events match
///         PancakeSwap V2 / Uniswap V2 pairs, so the edge node decodes it exactly like the real
///         thing. There is no factory: the deployer passes the (sorted) tokens and the swap fee.
///         Flash swaps and the protocol fee are deliberately left out.
contract PairV2 {
    string public constant name = "PairV2 LP";
    string public constant symbol = "PV2-LP";
    uint8 public constant decimals = 18;
    uint256 public constant MINIMUM_LIQUIDITY = 1000;

    uint256 private constant BPS = 10_000;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    address public immutable token0;
    address public immutable token1;
    /// @notice Swap fee in basis points of the input amount (25 for PancakeSwap, 30 for Uniswap).
    uint16 public immutable feeBps;

    // Packed into one slot, as in V2, so getReserves costs a single SLOAD.
    uint112 private reserve0;
    uint112 private reserve1;
    uint32 private blockTimestampLast;

    uint256 private unlocked = 1;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Mint(address indexed sender, uint256 amount0, uint256 amount1);
    event Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to);
    event Swap(
        address indexed sender,
        uint256 amount0In,
        uint256 amount1In,
        uint256 amount0Out,
        uint256 amount1Out,
        address indexed to
    );
    event Sync(uint112 reserve0, uint112 reserve1);

    modifier lock() {
        require(unlocked == 1, "PairV2: LOCKED");
        unlocked = 2;
        _;
        unlocked = 1;
    }

    constructor(address token0_, address token1_, uint16 feeBps_) {
        require(token0_ != address(0), "PairV2: ZERO_ADDRESS");
        // V2 factories sort the tokens; code that reads pairs relies on token0 < token1.
        require(token0_ < token1_, "PairV2: UNSORTED_TOKENS");
        require(feeBps_ > 0 && feeBps_ < 1000, "PairV2: BAD_FEE");
        token0 = token0_;
        token1 = token1_;
        feeBps = feeBps_;
    }

    function getReserves()
        public
        view
        returns (uint112 reserve0_, uint112 reserve1_, uint32 blockTimestampLast_)
    {
        reserve0_ = reserve0;
        reserve1_ = reserve1;
        blockTimestampLast_ = blockTimestampLast;
    }

    // ----- liquidity -----

    function mint(address to) external lock returns (uint256 liquidity) {
        (uint112 r0, uint112 r1,) = getReserves();
        uint256 balance0 = IPairToken(token0).balanceOf(address(this));
        uint256 balance1 = IPairToken(token1).balanceOf(address(this));
        uint256 amount0 = balance0 - r0;
        uint256 amount1 = balance1 - r1;

        uint256 supply = totalSupply;
        if (supply == 0) {
            uint256 root = _sqrt(amount0 * amount1);
            require(root > MINIMUM_LIQUIDITY, "PairV2: INSUFFICIENT_LIQUIDITY_MINTED");
            liquidity = root - MINIMUM_LIQUIDITY;
            // Locked forever so the share price can never be pushed to a degenerate value.
            _mint(address(0), MINIMUM_LIQUIDITY);
        } else {
            liquidity = _min((amount0 * supply) / r0, (amount1 * supply) / r1);
        }
        require(liquidity > 0, "PairV2: INSUFFICIENT_LIQUIDITY_MINTED");
        _mint(to, liquidity);

        _update(balance0, balance1);
        emit Mint(msg.sender, amount0, amount1);
    }

    function burn(address to) external lock returns (uint256 amount0, uint256 amount1) {
        address t0 = token0;
        address t1 = token1;
        uint256 balance0 = IPairToken(t0).balanceOf(address(this));
        uint256 balance1 = IPairToken(t1).balanceOf(address(this));
        uint256 liquidity = balanceOf[address(this)];

        uint256 supply = totalSupply;
        amount0 = (liquidity * balance0) / supply;
        amount1 = (liquidity * balance1) / supply;
        require(amount0 > 0 && amount1 > 0, "PairV2: INSUFFICIENT_LIQUIDITY_BURNED");
        _burn(address(this), liquidity);
        _safeTransfer(t0, to, amount0);
        _safeTransfer(t1, to, amount1);

        _update(IPairToken(t0).balanceOf(address(this)), IPairToken(t1).balanceOf(address(this)));
        emit Burn(msg.sender, amount0, amount1, to);
    }

    // ----- trading -----

    /// @dev The caller sends the input tokens first, then asks for outputs; the invariant check
    ///      below decides whether enough was paid, exactly as in V2.
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data)
        external
        lock
    {
        require(data.length == 0, "PairV2: FLASH_SWAPS_UNSUPPORTED");
        require(amount0Out > 0 || amount1Out > 0, "PairV2: INSUFFICIENT_OUTPUT_AMOUNT");
        (uint112 r0, uint112 r1,) = getReserves();
        require(amount0Out < r0 && amount1Out < r1, "PairV2: INSUFFICIENT_LIQUIDITY");
        require(to != token0 && to != token1, "PairV2: INVALID_TO");

        if (amount0Out > 0) _safeTransfer(token0, to, amount0Out);
        if (amount1Out > 0) _safeTransfer(token1, to, amount1Out);
        uint256 balance0 = IPairToken(token0).balanceOf(address(this));
        uint256 balance1 = IPairToken(token1).balanceOf(address(this));

        uint256 amount0In = _amountIn(balance0, r0, amount0Out);
        uint256 amount1In = _amountIn(balance1, r1, amount1Out);
        require(amount0In > 0 || amount1In > 0, "PairV2: INSUFFICIENT_INPUT_AMOUNT");
        _checkInvariant(balance0, balance1, amount0In, amount1In, r0, r1);

        _update(balance0, balance1);
        emit Swap(msg.sender, amount0In, amount1In, amount0Out, amount1Out, to);
    }

    /// @notice Sends any balance above the reserves to `to`.
    function skim(address to) external lock {
        address t0 = token0;
        address t1 = token1;
        _safeTransfer(t0, to, IPairToken(t0).balanceOf(address(this)) - reserve0);
        _safeTransfer(t1, to, IPairToken(t1).balanceOf(address(this)) - reserve1);
    }

    /// @notice Makes the reserves equal to the balances.
    function sync() external lock {
        _update(
            IPairToken(token0).balanceOf(address(this)), IPairToken(token1).balanceOf(address(this))
        );
    }

    // ----- LP token (ERC-20) -----

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "PairV2: ALLOWANCE_EXCEEDED");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    // ----- internals -----

    function _amountIn(uint256 balance, uint112 reserve, uint256 amountOut)
        private
        pure
        returns (uint256)
    {
        uint256 kept = uint256(reserve) - amountOut;
        return balance > kept ? balance - kept : 0;
    }

    /// @dev The fee is taken from the input side only: each balance is scaled by BPS and the input
    ///      is charged feeBps of itself, then the product must not fall below the old one.
    ///      Balances fit in 112 bits, so both products stay below 2**256.
    function _checkInvariant(
        uint256 balance0,
        uint256 balance1,
        uint256 amount0In,
        uint256 amount1In,
        uint112 r0,
        uint112 r1
    ) private view {
        uint256 fee = feeBps;
        uint256 adjusted0 = balance0 * BPS - amount0In * fee;
        uint256 adjusted1 = balance1 * BPS - amount1In * fee;
        require(adjusted0 * adjusted1 >= uint256(r0) * uint256(r1) * (BPS * BPS), "PairV2: K");
    }

    function _update(uint256 balance0, uint256 balance1) private {
        require(balance0 <= type(uint112).max && balance1 <= type(uint112).max, "PairV2: OVERFLOW");
        uint112 r0 = uint112(balance0);
        uint112 r1 = uint112(balance1);
        reserve0 = r0;
        reserve1 = r1;
        blockTimestampLast = uint32(block.timestamp % 2 ** 32);
        emit Sync(r0, r1);
    }

    function _mint(address to, uint256 value) private {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) private {
        balanceOf[from] -= value;
        totalSupply -= value;
        emit Transfer(from, address(0), value);
    }

    function _transfer(address from, address to, uint256 value) private {
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    /// @dev Accepts tokens that return nothing from transfer as well as those returning a bool.
    function _safeTransfer(address token, address to, uint256 value) private {
        (bool ok, bytes memory ret) =
            token.call(abi.encodeWithSignature("transfer(address,uint256)", to, value));
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "PairV2: TRANSFER_FAILED");
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev Integer square root by Newton's method, rounding down.
    function _sqrt(uint256 x) private pure returns (uint256 r) {
        if (x < 4) return x == 0 ? 0 : 1;
        r = x;
        uint256 next = x / 2 + 1;
        while (next < r) {
            r = next;
            next = (x / next + next) / 2;
        }
    }
}
