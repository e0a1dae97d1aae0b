namespace MediaGen.Internal;

/// <summary>An item that can stand in one <see cref="IntrusiveList{T}"/> at a time; its links are the list's to keep.</summary>
/// <typeparam name="T">The item type itself.</typeparam>
internal abstract class IntrusiveListNode<T>
    where T : IntrusiveListNode<T>
{
    /// <summary>The item before this one in its list.</summary>
    public T? ListPrevious { get; internal set; }

    /// <summary>The item after this one in its list.</summary>
    public T? ListNext { get; internal set; }

    /// <summary>Whether the item is in a list.</summary>
    public bool IsListed { get; internal set; }
}

/// <summary>
/// A doubly-linked list through its items (<see cref="IntrusiveListNode{T}"/>): adding and removing allocate nothing and
/// removing is O(1), for the in-memory backend's and the worker's expiry-ordered lists. Not thread-safe: the owner's lock
/// guards it.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class IntrusiveList<T>
    where T : IntrusiveListNode<T>
{
    public T? First { get; private set; }

    public T? Last { get; private set; }

    public int Count { get; private set; }

    public void AddLast(T item) => InsertAfter(Last, item);

    /// <summary>Puts <paramref name="item"/>, not in a list, after <paramref name="after"/>, or first when that is null.</summary>
    public void InsertAfter(T? after, T item)
    {
        item.ListPrevious = after;
        item.ListNext = after is null ? First : after.ListNext;
        if (item.ListNext is null)
        {
            Last = item;
        }
        else
        {
            item.ListNext.ListPrevious = item;
        }

        if (after is null)
        {
            First = item;
        }
        else
        {
            after.ListNext = item;
        }

        item.IsListed = true;
        Count++;
    }

    /// <summary>Takes <paramref name="item"/>, which is in this list, out of it.</summary>
    public void Remove(T item)
    {
        if (item.ListPrevious is null)
        {
            First = item.ListNext;
        }
        else
        {
            item.ListPrevious.ListNext = item.ListNext;
        }

        if (item.ListNext is null)
        {
            Last = item.ListPrevious;
        }
        else
        {
            item.ListNext.ListPrevious = item.ListPrevious;
        }

        item.ListPrevious = item.ListNext = null;
        item.IsListed = false;
        Count--;
    }

    public void Clear()
    {
        First = Last = null;
        Count = 0;
    }
}
