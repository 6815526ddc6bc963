// The schema every integration test applies, to PGlite and to the PostgreSQL 15 server alike.
export const TEST_SCHEMA = `
create type mood as enum ('sad', 'ok', 'happy');
create domain email as text check (value like '%@%');
create type address as (street text, number int);

create table hosts (id int primary key, name text not null, owner email);
create table contacts (
  id serial primary key,
  hostid int references hosts,
  name text not null,
  subject text
);
create view contact_hosts as
  select c.id, c.name, h.name as host from contacts c left join hosts h on h.id = c.hostid;

create table everything (
  id int primary key,
  i2 int2 not null, i4 int4 not null, i8 int8 not null, num numeric not null,
  f4 float4 not null, f8 float8 not null, b bool not null,
  t text not null, vc varchar(10) not null, ch char(3) not null, u uuid not null,
  by bytea not null, d date not null, tm time not null, ts timestamp not null,
  tstz timestamptz not null, iv interval not null, j json not null, jb jsonb not null,
  arr int[] not null, tarr text[] not null, m mood not null, e email not null,
  a address not null, moods mood[] not null
);
`;
