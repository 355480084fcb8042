// The subset of ankerl::unordered_dense (v4) that mediasoup's worker uses, for building the
// worker where that header-only library is not packaged: map, set and hash, over Abseil's
// flat_hash_map / flat_hash_set (Swiss tables, open addressing like unordered_dense).
//
// Differences from the real library, none on the worker's RTP forwarding path:
// - iteration order is unspecified (unordered_dense iterates in insertion order until an
//   erase), which shows only in the order of dump() lists;
// - value_type is std::pair<const Key, T>, as in std::unordered_map.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>

namespace ankerl::unordered_dense
{
	namespace detail
	{
		// wyhash's 128-bit multiply-and-fold: std::hash of an integer is the identity, which
		// the worker's HashCombine calls (TransportTuple, PortManager) must not get.
		inline std::uint64_t Mix(std::uint64_t value) noexcept
		{
			const auto product = static_cast<unsigned __int128>(value ^ 0xa0761d6478bd642fULL) *
			                     0xe7037ed1a0b428dbULL;

			return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
		}
	} // namespace detail

	template<typename T, typename = void>
	struct hash
	{
		std::uint64_t operator()(const T& value) const
		{
			return detail::Mix(static_cast<std::uint64_t>(std::hash<T>{}(value)));
		}
	};

	template<typename T>
	struct hash<T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>>>
	{
		std::uint64_t operator()(T value) const noexcept
		{
			return detail::Mix(static_cast<std::uint64_t>(value));
		}
	};

	template<typename T>
	struct hash<T*>
	{
		std::uint64_t operator()(T* value) const noexcept
		{
			return detail::Mix(reinterpret_cast<std::uintptr_t>(value));
		}
	};

	// Strings hash by content; a string_view of a std::string hashes the same.
	template<typename Char>
	struct hash<std::basic_string<Char>>
	{
		std::uint64_t operator()(std::basic_string_view<Char> value) const noexcept
		{
			return detail::Mix(std::hash<std::basic_string_view<Char>>{}(value));
		}
	};

	template<typename Char>
	struct hash<std::basic_string_view<Char>> : hash<std::basic_string<Char>>
	{
	};

	// The worker erases while iterating (`it = table.erase(it)`), which needs erase() to
	// return the next position. Abseil's erase(iterator) returns void, but it never moves
	// other elements, so the position after `it`, taken before erasing, stays valid.
	template<typename Base>
	class EraseReturnsNext : public Base
	{
	public:
		using Base::Base;
		using Base::erase;
		using iterator = typename Base::iterator;

		iterator erase(iterator position)
		{
			auto next = std::next(position);
			Base::erase(position);

			return next;
		}
	};

	template<typename Key, typename T, typename Hash = hash<Key>, typename KeyEqual = std::equal_to<Key>>
	using map = EraseReturnsNext<absl::flat_hash_map<Key, T, Hash, KeyEqual>>;

	template<typename Key, typename Hash = hash<Key>, typename KeyEqual = std::equal_to<Key>>
	using set = EraseReturnsNext<absl::flat_hash_set<Key, Hash, KeyEqual>>;
} // namespace ankerl::unordered_dense
